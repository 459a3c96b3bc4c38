//! Runs scenarios against a target and reports failures with expected and actual bytes.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::escape::escape;
use crate::pattern::{Outcome, Pattern};
use crate::scenario::{Action, InfoCheck, Scenario, SendMode, Step};
use crate::target::{Connection, Recv, Server, StartError, Target};

/// How to run the suite.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long an expectation waits for bytes unless the scenario says otherwise.
    pub expect_timeout: Duration,
    /// Scenarios run at once on targets that allow it.
    pub jobs: usize,
    /// Print each scenario's result as it finishes.
    pub verbose: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            expect_timeout: Duration::from_millis(1500),
            jobs: 4,
            verbose: false,
        }
    }
}

/// How one scenario went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Every step held.
    Passed,
    /// Not run, and why.
    Skipped(String),
    /// A step did not hold.
    Failed(Failure),
}

/// The step that failed and what was received instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The scenario file line of the failing step (0 when the server would not start).
    pub line: usize,
    /// The step as written.
    pub step: String,
    /// What went wrong.
    pub message: String,
    /// The expected bytes or pattern, if the step expected bytes.
    pub expected: Option<String>,
    /// What the connection had received (escaped), if relevant.
    pub actual: Option<String>,
}

/// One scenario's result.
#[derive(Debug, Clone)]
pub struct Outcomes {
    /// The scenario name.
    pub name: String,
    /// `file:line` of the scenario.
    pub location: String,
    /// What happened.
    pub status: Status,
    /// How long it took.
    pub elapsed: Duration,
}

/// Totals of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Scenarios that passed.
    pub passed: usize,
    /// Scenarios that failed.
    pub failed: usize,
    /// Scenarios skipped on this target.
    pub skipped: usize,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

/// Runs `scenarios` against `target` (in parallel when the target allows) and returns the
/// results in scenario order.
pub fn run_all(target: &dyn Target, scenarios: &[Scenario], options: &Options) -> Vec<Outcomes> {
    let jobs = if target.parallel() {
        options.jobs.max(1)
    } else {
        1
    };
    let next = AtomicUsize::new(0);
    let results = Mutex::new(vec![None; scenarios.len()]);
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(scenarios.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(scenario) = scenarios.get(i) else {
                        break;
                    };
                    let outcome = run_one(target, scenario, options);
                    if options.verbose {
                        println!("{} {}", status_word(&outcome.status), outcome.name);
                    }
                    results.lock().expect("no panics while holding the lock")[i] = Some(outcome);
                }
            });
        }
    });
    results
        .into_inner()
        .expect("threads joined")
        .into_iter()
        .map(|r| r.expect("every scenario ran"))
        .collect()
}

fn status_word(status: &Status) -> &'static str {
    match status {
        Status::Passed => "ok  ",
        Status::Skipped(_) => "skip",
        Status::Failed(_) => "FAIL",
    }
}

/// Counts the results.
pub fn summarize(results: &[Outcomes]) -> Summary {
    let mut s = Summary::default();
    for r in results {
        match r.status {
            Status::Passed => s.passed += 1,
            Status::Skipped(_) => s.skipped += 1,
            Status::Failed(_) => s.failed += 1,
        }
    }
    s
}

/// A report of every failure, with expected and actual bytes.
pub fn report_failures(target: &dyn Target, results: &[Outcomes]) -> String {
    let mut out = String::new();
    for r in results {
        let Status::Failed(f) = &r.status else {
            continue;
        };
        let _ = writeln!(out, "FAIL {} ({}) on {}", r.name, r.location, target.name());
        if f.line > 0 {
            let _ = writeln!(out, "  line {}: {}", f.line, f.step);
        }
        let _ = writeln!(out, "  {}", f.message);
        if let Some(e) = &f.expected {
            let _ = writeln!(out, "  expected: {e}");
        }
        if let Some(a) = &f.actual {
            let _ = writeln!(out, "  actual:   {a}");
        }
    }
    out
}

/// Why a scenario is not run on `target`, if it is not.
pub fn skip_reason(target: &dyn Target, scenario: &Scenario) -> Option<String> {
    if let Some(tag) = scenario.tags.iter().find(|t| !target.supports(t)) {
        return Some(format!("target does not support `{tag}`"));
    }
    if scenario.differs.iter().any(|k| k == target.kind().as_str()) {
        return Some("deliberate difference (see DIFFERENCES.md)".into());
    }
    if let Some(req) = scenario.version {
        if !req.matches(target.version()) {
            return Some(format!("needs nats-server {req:?}"));
        }
    }
    None
}

/// Runs one scenario on a fresh server of `target`.
pub fn run_one(target: &dyn Target, scenario: &Scenario, options: &Options) -> Outcomes {
    let started = Instant::now();
    let status = match skip_reason(target, scenario) {
        Some(why) => Status::Skipped(why),
        None => match target.start(&scenario.config) {
            Err(StartError::Unsupported(why)) => Status::Skipped(why),
            Err(e @ StartError::Failed(_)) => Status::Failed(Failure {
                line: 0,
                step: String::new(),
                message: e.to_string(),
                expected: None,
                actual: None,
            }),
            Ok(server) => {
                let timeout = scenario.timeout.unwrap_or(options.expect_timeout);
                let mut run = Run {
                    server,
                    conns: HashMap::new(),
                    timeout,
                    version: target.version(),
                };
                match catch_unwind(AssertUnwindSafe(|| run.steps(&scenario.steps))) {
                    Ok(Ok(())) => Status::Passed,
                    Ok(Err(f)) => Status::Failed(f),
                    Err(_) => Status::Failed(Failure {
                        line: 0,
                        step: String::new(),
                        message: "the target panicked".into(),
                        expected: None,
                        actual: None,
                    }),
                }
            }
        },
    };
    Outcomes {
        name: scenario.name.clone(),
        location: format!("{}:{}", scenario.file.display(), scenario.line),
        status,
        elapsed: started.elapsed(),
    }
}

/// A client connection and what it has received but not yet matched.
struct Client {
    conn: Box<dyn Connection>,
    buf: Vec<u8>,
    closed: bool,
    last_json: Option<Vec<u8>>,
}

impl Client {
    /// Reads more bytes before `deadline`; false on timeout or close.
    fn read_more(&mut self, deadline: Instant) -> bool {
        if self.closed {
            return false;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match self.conn.recv(left) {
            Recv::Data(d) => {
                self.buf.extend(d);
                true
            }
            Recv::Timeout => false,
            Recv::Closed => {
                self.closed = true;
                false
            }
        }
    }

    fn actual(&self) -> String {
        let mut s = escape(&self.buf);
        if s.is_empty() {
            s.push_str("(nothing)");
        }
        if self.closed {
            s.push_str(" <closed>");
        }
        s
    }
}

struct Run {
    server: Box<dyn Server>,
    conns: HashMap<String, Client>,
    timeout: Duration,
    version: crate::version::Version,
}

type StepResult = Result<(), Failure>;

impl Run {
    fn steps(&mut self, steps: &[Step]) -> StepResult {
        for step in steps {
            if step.when.is_some_and(|w| !w.matches(self.version)) {
                continue;
            }
            self.step(step)?;
        }
        let leftover = self.conns.iter().find(|(_, c)| !c.buf.is_empty());
        if let Some((name, client)) = leftover {
            return Err(Failure {
                line: 0,
                step: String::new(),
                message: format!("connection {name} received bytes no step expected"),
                expected: None,
                actual: Some(client.actual()),
            });
        }
        Ok(())
    }

    fn fail(
        step: &Step,
        message: impl Into<String>,
        expected: Option<String>,
        client: Option<&Client>,
    ) -> Failure {
        Failure {
            line: step.line,
            step: step.text.clone(),
            message: message.into(),
            expected,
            actual: client.map(Client::actual),
        }
    }

    fn client(&mut self, step: &Step, name: &str) -> Result<&mut Client, Failure> {
        self.conns.get_mut(name).ok_or_else(|| {
            Self::fail(
                step,
                format!("no connection named {name} (add `conn {name}`)"),
                None,
                None,
            )
        })
    }

    fn step(&mut self, step: &Step) -> StepResult {
        match &step.action {
            Action::Connect(name) => {
                let conn = self
                    .server
                    .connect()
                    .map_err(|e| Self::fail(step, format!("connect failed: {e}"), None, None))?;
                self.conns.insert(
                    name.clone(),
                    Client {
                        conn,
                        buf: Vec::new(),
                        closed: false,
                        last_json: None,
                    },
                );
                Ok(())
            }
            Action::Send { conn, bytes, mode } => self.send(step, conn, bytes, *mode),
            Action::Expect {
                conn,
                pattern,
                count,
            } => {
                let timeout = self.timeout;
                let client = self.client(step, conn)?;
                match count {
                    None => expect_one(step, client, pattern, timeout),
                    Some(range) => expect_count(step, client, pattern, *range, timeout),
                }
            }
            Action::Closed(conn) => {
                let deadline = Instant::now() + self.timeout;
                let client = self.client(step, conn)?;
                while client.buf.is_empty() && client.read_more(deadline) {}
                if !client.buf.is_empty() {
                    return Err(Self::fail(
                        step,
                        "expected the server to close, got bytes",
                        None,
                        Some(client),
                    ));
                }
                if !client.closed {
                    return Err(Self::fail(
                        step,
                        "the connection is still open",
                        None,
                        Some(client),
                    ));
                }
                Ok(())
            }
            Action::Silent(conn, duration) => {
                let deadline = Instant::now() + *duration;
                let client = self.client(step, conn)?;
                if client.buf.is_empty() && !client.closed {
                    client.read_more(deadline);
                }
                if !client.buf.is_empty() || client.closed {
                    return Err(Self::fail(step, "expected silence", None, Some(client)));
                }
                Ok(())
            }
            Action::Info(conn, checks) => {
                let client = self.client(step, conn)?;
                check_info(step, client, checks)
            }
            Action::Close(conn) => {
                let client = self.client(step, conn)?;
                client.conn.close();
                self.conns.remove(conn);
                Ok(())
            }
            Action::Sleep(duration) => {
                self.server.sleep(*duration);
                Ok(())
            }
        }
    }

    fn send(&mut self, step: &Step, conn: &str, bytes: &[u8], mode: SendMode) -> StepResult {
        let mut writes: Vec<Vec<u8>> = Vec::new();
        match mode {
            SendMode::Whole => writes.push(bytes.to_vec()),
            SendMode::Repeat(n) => writes.push(bytes.repeat(n)),
            SendMode::Bytewise => writes.extend(bytes.iter().map(|b| vec![*b])),
            SendMode::SplitEach => {
                for k in 1..bytes.len() {
                    writes.push(bytes[..k].to_vec());
                    writes.push(bytes[k..].to_vec());
                }
            }
        }
        let pause = writes.len() > 1;
        for write in writes {
            let client = self.client(step, conn)?;
            if let Err(e) = client.conn.send(&write) {
                return Err(Self::fail(
                    step,
                    format!("send failed: {e}"),
                    None,
                    Some(client),
                ));
            }
            if pause {
                self.server.pause();
            }
        }
        Ok(())
    }
}

fn expect_one(
    step: &Step,
    client: &mut Client,
    pattern: &Pattern,
    timeout: Duration,
) -> StepResult {
    let deadline = Instant::now() + timeout;
    loop {
        match pattern.match_prefix(&client.buf) {
            Outcome::Match { len, json } => {
                client.buf.drain(..len);
                if let Some(last) = json.into_iter().last() {
                    client.last_json = Some(last);
                }
                return Ok(());
            }
            Outcome::Mismatch => {
                return Err(Run::fail(
                    step,
                    "received bytes do not match",
                    Some(pattern.source().into()),
                    Some(client),
                ));
            }
            Outcome::NeedMore => {
                if !client.read_more(deadline) {
                    let why = if client.closed {
                        "closed before a match"
                    } else {
                        "timed out waiting for a match"
                    };
                    return Err(Run::fail(
                        step,
                        why,
                        Some(pattern.source().into()),
                        Some(client),
                    ));
                }
            }
        }
    }
}

fn expect_count(
    step: &Step,
    client: &mut Client,
    pattern: &Pattern,
    range: (usize, usize),
    timeout: Duration,
) -> StepResult {
    let mut n = 0;
    let mut deadline = Instant::now() + timeout;
    while n < range.1 {
        match pattern.match_prefix(&client.buf) {
            Outcome::Match { len, .. } => {
                client.buf.drain(..len);
                n += 1;
                deadline = Instant::now() + timeout;
            }
            Outcome::Mismatch => break,
            Outcome::NeedMore => {
                if !client.read_more(deadline) {
                    break;
                }
            }
        }
    }
    if n < range.0 || n > range.1 {
        let message = format!("matched {n} times, expected {}..{}", range.0, range.1);
        return Err(Run::fail(
            step,
            message,
            Some(pattern.source().into()),
            Some(client),
        ));
    }
    Ok(())
}

fn check_info(step: &Step, client: &Client, checks: &[InfoCheck]) -> StepResult {
    let Some(json) = &client.last_json else {
        return Err(Run::fail(
            step,
            "no {json} matched on this connection yet",
            None,
            None,
        ));
    };
    let value: serde_json::Value =
        serde_json::from_slice(json).expect("the matcher only captures valid JSON");
    let shown = Some(String::from_utf8_lossy(json).into_owned());
    for check in checks {
        let ok = match check {
            InfoCheck::Equals(k, v) => value.get(k) == Some(v),
            InfoCheck::Present(k) => value.get(k).is_some(),
            InfoCheck::Absent(k) => matches!(
                value.get(k),
                None | Some(serde_json::Value::Null | serde_json::Value::Bool(false))
            ),
        };
        if !ok {
            let mut f = Run::fail(step, format!("INFO check failed: {check:?}"), None, None);
            f.actual = shown;
            return Err(f);
        }
    }
    Ok(())
}
