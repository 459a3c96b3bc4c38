//! Scenarios: the model and the parser of the line-oriented `.nats` format (see
//! `tests/conformance/README.md` for the format as a person writes it).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::escape::unescape;
use crate::pattern::Pattern;
use crate::version::VersionReq;

/// One scenario: server configuration, tags and the steps to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// `file-stem/name`, unique across the suite.
    pub name: String,
    /// The file it came from.
    pub file: PathBuf,
    /// The line of its `scenario:` header.
    pub line: usize,
    /// Capability tags (`core`, `headers`, `auth`, `limits`, ...).
    pub tags: Vec<String>,
    /// Server configuration as dotted keys (`authorization.token`) and conf-syntax values.
    pub config: Vec<(String, String)>,
    /// Only run on targets whose nats version satisfies this.
    pub version: Option<VersionReq>,
    /// How long an expectation waits for bytes, if not the runner's default.
    pub timeout: Option<Duration>,
    /// Target kinds (`skiff`) on which the scenario deliberately differs and is skipped.
    pub differs: Vec<String>,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// One step and the version condition it runs under.
#[derive(Debug, Clone)]
pub struct Step {
    /// Line number in the file.
    pub line: usize,
    /// The line as written (for failure reports).
    pub text: String,
    /// Run only when the target's nats version satisfies this.
    pub when: Option<VersionReq>,
    /// What to do.
    pub action: Action,
}

/// How a send step writes its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendMode {
    /// One write.
    Whole,
    /// One write per byte.
    Bytewise,
    /// For every split point k: write bytes[..k], then bytes[k..] (len−1 copies in all).
    SplitEach,
    /// The bytes repeated N times, in one write.
    Repeat(usize),
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum Action {
    /// `conn a`: open a connection named `a`.
    Connect(String),
    /// `a> bytes`: send bytes.
    Send {
        /// Connection name.
        conn: String,
        /// The bytes, unescaped.
        bytes: Vec<u8>,
        /// How to write them.
        mode: SendMode,
    },
    /// `a< pattern`: expect bytes (optionally `[count A..B]` repeated matches).
    Expect {
        /// Connection name.
        conn: String,
        /// What must arrive next.
        pattern: Pattern,
        /// For `[count A..B]`: how many consecutive matches are allowed.
        count: Option<(usize, usize)>,
    },
    /// `a: closed`: nothing more arrives and the server closes the connection.
    Closed(String),
    /// `a: silent 200ms`: nothing arrives for this long.
    Silent(String, Duration),
    /// `a: info key=value !key`: checks on the last `{json}` this connection matched.
    Info(String, Vec<InfoCheck>),
    /// `a: close`: the client closes its end.
    Close(String),
    /// `sleep 1s`: let time pass.
    Sleep(Duration),
}

/// One check of `a: info`.
#[derive(Debug, Clone, PartialEq)]
pub enum InfoCheck {
    /// `key=json`: the field is present with this value.
    Equals(String, serde_json::Value),
    /// `key`: the field is present.
    Present(String),
    /// `!key`: the field is absent (or false/null).
    Absent(String),
}

/// Parses every scenario in the `.nats` files under `dir`, sorted by file name.
pub fn load_dir(dir: &Path) -> Result<Vec<Scenario>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "nats"))
        .collect();
    files.sort();
    let mut all = Vec::new();
    for file in files {
        let text =
            std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        all.extend(parse_file(&file, &text)?);
    }
    let mut names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("duplicate scenario name {}", w[0]));
    }
    Ok(all)
}

/// Parses one file's text into scenarios.
pub fn parse_file(file: &Path, text: &str) -> Result<Vec<Scenario>, String> {
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("scenario");
    let mut scenarios: Vec<Scenario> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let here = |msg: String| format!("{}:{line}: {msg}", file.display());
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix("scenario:") {
            scenarios.push(Scenario {
                name: format!("{stem}/{}", name.trim()),
                file: file.to_owned(),
                line,
                tags: Vec::new(),
                config: Vec::new(),
                version: None,
                timeout: None,
                differs: Vec::new(),
                steps: Vec::new(),
            });
            continue;
        }
        let Some(current) = scenarios.last_mut() else {
            return Err(here("expected `scenario: NAME` first".into()));
        };
        parse_line(current, raw.trim_end(), line).map_err(here)?;
    }
    for s in &scenarios {
        if s.steps.is_empty() {
            return Err(format!(
                "{}:{}: scenario {} has no steps",
                file.display(),
                s.line,
                s.name
            ));
        }
    }
    Ok(scenarios)
}

fn parse_line(scenario: &mut Scenario, line: &str, number: usize) -> Result<(), String> {
    let line = line.trim_start();
    if let Some((key, value)) = line.split_once(':') {
        let value = value.trim();
        match key {
            "tags" => {
                scenario
                    .tags
                    .extend(value.split_whitespace().map(str::to_owned));
                return Ok(());
            }
            "config" => {
                let (k, v) = value.split_once('=').ok_or("config needs `key = value`")?;
                scenario
                    .config
                    .push((k.trim().to_owned(), v.trim().to_owned()));
                return Ok(());
            }
            "version" => {
                scenario.version = Some(value.parse()?);
                return Ok(());
            }
            "timeout" => {
                scenario.timeout = Some(parse_duration(value)?);
                return Ok(());
            }
            "differs" => {
                scenario
                    .differs
                    .extend(value.split_whitespace().map(str::to_owned));
                return Ok(());
            }
            "note" => return Ok(()),
            _ => {}
        }
    }
    let (when, rest) = match line.strip_prefix('@') {
        Some(gated) => {
            let (req, rest) = gated
                .split_once(' ')
                .ok_or("`@VERSION` must be followed by a step")?;
            (Some(req.parse()?), rest.trim_start())
        }
        None => (None, line),
    };
    let action = parse_action(rest)?;
    scenario.steps.push(Step {
        line: number,
        text: line.to_owned(),
        when,
        action,
    });
    Ok(())
}

fn parse_action(line: &str) -> Result<Action, String> {
    if let Some(name) = line.strip_prefix("conn ") {
        return Ok(Action::Connect(conn_name(name.trim())?));
    }
    if let Some(d) = line.strip_prefix("sleep ") {
        return Ok(Action::Sleep(parse_duration(d.trim())?));
    }
    let split = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .ok_or_else(|| format!("not a step: {line}"))?;
    let conn = conn_name(&line[..split])?;
    let marker = line.as_bytes()[split];
    let body = &line[split + 1..];
    let body = body.strip_prefix(' ').unwrap_or(body);
    match marker {
        b'>' => {
            let (mode, text) = send_mode(body)?;
            Ok(Action::Send {
                conn,
                bytes: unescape(text)?,
                mode,
            })
        }
        b'<' => {
            let (count, text) = match body.strip_prefix("[count ") {
                Some(rest) => {
                    let (range, text) = rest.split_once("] ").ok_or("`[count A..B] pattern`")?;
                    (Some(parse_range(range)?), text)
                }
                None => (None, body),
            };
            Ok(Action::Expect {
                conn,
                pattern: Pattern::parse(text)?,
                count,
            })
        }
        b':' => {
            let mut words = body.split_whitespace();
            match words.next() {
                Some("closed") => Ok(Action::Closed(conn)),
                Some("close") => Ok(Action::Close(conn)),
                Some("silent") => {
                    let d = words.next().ok_or("`silent DURATION`")?;
                    Ok(Action::Silent(conn, parse_duration(d)?))
                }
                Some("info") => Ok(Action::Info(
                    conn,
                    words.map(parse_info_check).collect::<Result<_, _>>()?,
                )),
                other => Err(format!("unknown `{conn}:` command {other:?}")),
            }
        }
        _ => Err(format!("not a step: {line}")),
    }
}

fn conn_name(name: &str) -> Result<String, String> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("bad connection name {name:?}"));
    }
    Ok(name.to_owned())
}

fn send_mode(body: &str) -> Result<(SendMode, &str), String> {
    let Some(rest) = body.strip_prefix('[') else {
        return Ok((SendMode::Whole, body));
    };
    let (modifier, text) = rest.split_once("] ").ok_or("unclosed `[modifier]`")?;
    let mode = match modifier.split_once(' ') {
        None if modifier == "bytewise" => SendMode::Bytewise,
        None if modifier == "split-each" => SendMode::SplitEach,
        Some(("repeat", n)) => SendMode::Repeat(n.parse().map_err(|_| "`[repeat N]`")?),
        _ => return Err(format!("unknown send modifier [{modifier}]")),
    };
    Ok((mode, text))
}

fn parse_range(range: &str) -> Result<(usize, usize), String> {
    let bad = || format!("bad count range {range:?}");
    match range.split_once("..") {
        Some((a, b)) => Ok((a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?)),
        None => {
            let n = range.parse().map_err(|_| bad())?;
            Ok((n, n))
        }
    }
}

fn parse_info_check(word: &str) -> Result<InfoCheck, String> {
    if let Some(key) = word.strip_prefix('!') {
        return Ok(InfoCheck::Absent(key.to_owned()));
    }
    match word.split_once('=') {
        Some((k, v)) => {
            let value = serde_json::from_str(v).map_err(|e| format!("info {k}: {e}"))?;
            Ok(InfoCheck::Equals(k.to_owned(), value))
        }
        None => Ok(InfoCheck::Present(word.to_owned())),
    }
}

/// Parses `250ms`, `2s` or `1.5s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("bad duration {text:?} (use 250ms or 2s)");
    if let Some(ms) = text.strip_suffix("ms") {
        return ms.parse().map(Duration::from_millis).map_err(|_| bad());
    }
    let secs: f64 = text
        .strip_suffix('s')
        .ok_or_else(bad)?
        .parse()
        .map_err(|_| bad())?;
    Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
# a comment
scenario: basic
tags: core
config: max_payload = 10
conn a
a< INFO {json} \r\n
a: info max_payload=10 !auth_required headers
a> [bytewise] SUB foo 1\r\n
@>=2.12 a< +OK\r\n
a< [count 2..3] MSG foo 1 0\r\n\r\n
a: silent 200ms
sleep 1.5s
a: closed
"#;

    #[test]
    fn parses_every_kind_of_line() {
        let scenarios = parse_file(Path::new("x/ops.nats"), SAMPLE).unwrap();
        let [s] = scenarios.as_slice() else {
            panic!("{scenarios:?}")
        };
        assert_eq!(s.name, "ops/basic");
        assert_eq!(s.tags, ["core"]);
        assert_eq!(s.config, [("max_payload".to_owned(), "10".to_owned())]);
        assert_eq!(s.steps.len(), 9);
        assert!(matches!(&s.steps[2].action, Action::Info(_, checks) if checks.len() == 3));
        assert!(
            matches!(&s.steps[3].action, Action::Send { bytes, mode: SendMode::Bytewise, .. } if bytes == b"SUB foo 1\r\n")
        );
        assert!(s.steps[4].when.is_some());
        assert!(matches!(
            &s.steps[5].action,
            Action::Expect {
                count: Some((2, 3)),
                ..
            }
        ));
        assert!(matches!(s.steps[8].action, Action::Closed(_)));
    }

    #[test]
    fn reports_the_line_of_an_error() {
        let err = parse_file(Path::new("f.nats"), "scenario: x\nconn a\na? hi\n").unwrap_err();
        assert!(err.starts_with("f.nats:3:"), "{err}");
        assert!(parse_file(Path::new("f.nats"), "conn a\n").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("5").is_err());
    }
}
