//! Running a client adapter: a child process that connects to the URL on its command line,
//! follows line commands on stdin and prints events on stdout (the protocol is in
//! `tests/clients/README.md`).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How to start one client's adapter (the URL is appended to `args`).
#[derive(Debug, Clone)]
pub struct AdapterSpec {
    /// The client's name in reports (`nats.go`, `nats-py`, ...).
    pub name: String,
    /// The program.
    pub program: PathBuf,
    /// Arguments before the URL.
    pub args: Vec<String>,
}

/// A running adapter and every line it printed.
#[derive(Debug)]
pub struct Adapter {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
}

impl Adapter {
    /// Starts `spec` against `url` and waits for its `connected` line.
    ///
    /// # Errors
    /// The program did not start or did not connect within `timeout`.
    pub fn start(spec: &AdapterSpec, url: &str, timeout: Duration) -> Result<Self, String> {
        let mut child = Command::new(&spec.program)
            .args(&spec.args)
            .arg(url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", spec.program.display()))?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let stdout = child.stdout.take().expect("piped stdout");
        {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    lines.lock().expect("adapter lock").push(line);
                }
            });
        }
        let mut err_pipe = child.stderr.take().expect("piped stderr");
        {
            let stderr = stderr.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = err_pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    stderr
                        .lock()
                        .expect("adapter lock")
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        let adapter = Self {
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
        };
        adapter
            .wait_for(0, timeout, |l| l == "connected")
            .map_err(|_| format!("the adapter did not connect: {}", adapter.tail()))?;
        Ok(adapter)
    }

    /// Sends one command line.
    ///
    /// # Errors
    /// The adapter's stdin is closed.
    pub fn send(&mut self, command: &str) -> Result<(), String> {
        let stdin = self.stdin.as_mut().ok_or("the adapter's stdin is closed")?;
        writeln!(stdin, "{command}")
            .and_then(|()| stdin.flush())
            .map_err(|e| {
                format!(
                    "the adapter stopped reading commands ({e}): {}",
                    self.tail()
                )
            })
    }

    /// How many lines it has printed so far (a mark for [`Adapter::wait_for`]).
    pub fn mark(&self) -> usize {
        self.lines.lock().expect("adapter lock").len()
    }

    /// The first line at or after `mark` that `wanted` accepts, waiting up to `timeout`.
    ///
    /// # Errors
    /// None came in time (the text names the wait).
    pub fn wait_for(
        &self,
        mark: usize,
        timeout: Duration,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            {
                let lines = self.lines.lock().expect("adapter lock");
                if let Some(line) = lines[mark.min(lines.len())..].iter().find(|l| wanted(l)) {
                    return Ok(line.clone());
                }
            }
            if Instant::now() >= deadline {
                return Err(format!("timed out after {timeout:?}"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends `command` and waits for its answer: `ok <verb>` or `err <verb> <text>`.
    ///
    /// # Errors
    /// No answer in time, or an `err` answer (its text).
    pub fn command(&mut self, command: &str, timeout: Duration) -> Result<String, String> {
        let verb = command.split(' ').next().unwrap_or_default().to_owned();
        let mark = self.mark();
        self.send(command)?;
        let ok = format!("ok {verb}");
        let err = format!("err {verb}");
        let line = self
            .wait_for(mark, timeout, |l| {
                l == ok || l.starts_with(&format!("{ok} ")) || l.starts_with(&err)
            })
            .map_err(|e| format!("`{command}`: no answer ({e})"))?;
        if line.starts_with(&err) {
            Err(line)
        } else {
            Ok(line)
        }
    }

    /// Every line printed at or after `mark`.
    pub fn lines_since(&self, mark: usize) -> Vec<String> {
        let lines = self.lines.lock().expect("adapter lock");
        lines[mark.min(lines.len())..].to_vec()
    }

    /// The last few lines of output and stderr, for a failure's reason.
    pub fn tail(&self) -> String {
        let lines = self.lines.lock().expect("adapter lock");
        let out: Vec<&str> = lines
            .iter()
            .rev()
            .take(4)
            .rev()
            .map(String::as_str)
            .collect();
        let err = self.stderr.lock().expect("adapter lock");
        let err: Vec<&str> = err
            .lines()
            .rev()
            .take(3)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("stdout [{}] stderr [{}]", out.join(" | "), err.join(" | "))
    }

    /// Waits up to `timeout` for the process to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }
}

impl Drop for Adapter {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if !self.wait_exit(Duration::from_millis(300)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
