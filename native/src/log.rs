//! Logging in nats-server's format: `[pid] YYYY/MM/DD HH:MM:SS.micro [INF] message`.
//!
//! The library only emits [`tracing`] events (target `skiff...`); embedders route them as they
//! like. The daemon calls [`init`] to print them like nats-server, on stderr or to a file.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};

/// How the daemon logs (nats-server's `-D`, `-V`, `-T`, `--logtime_utc`, `-l`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogOptions {
    /// Log debug lines (`[DBG]`).
    pub debug: bool,
    /// Log protocol traces (`[TRC]`).
    pub trace: bool,
    /// Prefix lines with the date and time.
    pub logtime: bool,
    /// Show times in UTC instead of local time.
    pub logtime_utc: bool,
    /// Append to this file instead of writing to stderr.
    pub file: Option<PathBuf>,
}

impl Default for LogOptions {
    fn default() -> Self {
        Self {
            debug: false,
            trace: false,
            logtime: true,
            logtime_utc: false,
            file: None,
        }
    }
}

/// Installs the nats-server-style logger as the process's global `tracing` subscriber.
///
/// # Errors
/// The log file cannot be opened. A subscriber installed earlier is kept silently.
pub fn init(options: &LogOptions) -> std::io::Result<()> {
    let sink: Box<dyn std::io::Write + Send> = match &options.file {
        Some(path) => Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?,
        ),
        None => Box::new(std::io::stderr()),
    };
    let layer = NatsFormat::new(options, sink);
    let level = layer.level.clone();
    if tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer)).is_ok() {
        let _ = INSTALLED_LEVEL.set(level);
    }
    Ok(())
}

/// Logs a broker notice at the level nats-server logs the same event at.
pub fn notice(notice: &skiff_core::Notice) {
    match notice.level() {
        skiff_core::NoticeLevel::Error => tracing::error!("{notice}"),
        skiff_core::NoticeLevel::Info => tracing::info!("{notice}"),
        _ => tracing::debug!("{notice}"),
    }
}

/// The level of the logger [`init`] installed, so a SIGHUP reload can change `debug`/`trace`
/// while the subscriber stays installed.
static INSTALLED_LEVEL: OnceLock<Arc<AtomicU8>> = OnceLock::new();

/// Changes what the installed logger prints (config reload of `debug`/`trace`).
pub fn set_level(debug: bool, trace: bool) {
    if let Some(level) = INSTALLED_LEVEL.get() {
        level.store(level_code(debug, trace), Ordering::Relaxed);
    }
}

/// 0 info, 1 debug, 2 trace.
fn level_code(debug: bool, trace: bool) -> u8 {
    u8::from(debug || trace) + u8::from(trace)
}

/// A `tracing` layer writing nats-server's log lines.
pub struct NatsFormat {
    pid: u32,
    /// The most detailed level printed, as [`level_code`]; shared with [`set_level`].
    level: Arc<AtomicU8>,
    logtime: bool,
    utc: bool,
    sink: Mutex<Box<dyn std::io::Write + Send>>,
}

impl std::fmt::Debug for NatsFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsFormat")
            .field("max_level", &self.max_level())
            .finish_non_exhaustive()
    }
}

impl NatsFormat {
    /// A layer for `options` writing to `sink`.
    pub fn new(options: &LogOptions, sink: Box<dyn std::io::Write + Send>) -> Self {
        Self {
            pid: std::process::id(),
            level: Arc::new(AtomicU8::new(level_code(options.debug, options.trace))),
            logtime: options.logtime,
            utc: options.logtime_utc,
            sink: Mutex::new(sink),
        }
    }

    /// The most detailed level printed now.
    fn max_level(&self) -> Level {
        match self.level.load(Ordering::Relaxed) {
            0 => Level::INFO,
            1 => Level::DEBUG,
            _ => Level::TRACE,
        }
    }

    /// Formats one line (without the newline).
    fn line(&self, level: Level, message: &str) -> String {
        let mut line = format!("[{}] ", self.pid);
        if self.logtime {
            let format = "%Y/%m/%d %H:%M:%S%.6f ";
            let stamp = if self.utc {
                chrono::Utc::now().format(format).to_string()
            } else {
                chrono::Local::now().format(format).to_string()
            };
            line.push_str(&stamp);
        }
        let _ = write!(line, "{} {message}", label(level));
        line
    }
}

/// nats-server's level labels.
fn label(level: Level) -> &'static str {
    match level {
        Level::ERROR => "[ERR]",
        Level::WARN => "[WRN]",
        Level::INFO => "[INF]",
        Level::DEBUG => "[DBG]",
        Level::TRACE => "[TRC]",
    }
}

impl<S: Subscriber> Layer<S> for NatsFormat {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _: Context<'_, S>) -> bool {
        *metadata.level() <= self.max_level() && metadata.target().starts_with("skiff")
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut visitor = Message::default();
        event.record(&mut visitor);
        let level = if visitor.fatal {
            None
        } else {
            Some(*event.metadata().level())
        };
        let mut line = match level {
            Some(level) => self.line(level, &visitor.text),
            None => self
                .line(Level::ERROR, &visitor.text)
                .replacen("[ERR]", "[FTL]", 1),
        };
        line.push('\n');
        let mut sink = self
            .sink
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = sink.write_all(line.as_bytes());
        let _ = sink.flush();
    }
}

/// Collects an event's message and other fields.
#[derive(Default)]
struct Message {
    text: String,
    fatal: bool,
}

impl Visit for Message {
    fn record_bool(&mut self, field: &Field, value: bool) {
        if field.name() == "fatal" {
            self.fatal = value;
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.text, "{value:?}");
        } else {
            let _ = write!(self.text, " {}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// A sink the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn capture(options: LogOptions, f: impl FnOnce()) -> String {
        let sink = Shared::default();
        let layer = NatsFormat::new(&options, Box::new(sink.clone()));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, f);
        String::from_utf8(sink.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn lines_look_like_nats_server() {
        let out = capture(LogOptions::default(), || {
            tracing::info!("Server is ready");
            tracing::debug!("hidden");
            tracing::error!(fatal = true, "Error listening on port");
        });
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        let pid = format!("[{}] ", std::process::id());
        assert!(lines[0].starts_with(&pid));
        // "YYYY/MM/DD HH:MM:SS.micro " is 27 characters.
        let rest = &lines[0][pid.len()..];
        assert_eq!(&rest[4..5], "/");
        assert_eq!(&rest[19..20], ".");
        assert_eq!(&rest[27..], "[INF] Server is ready");
        assert!(lines[1].ends_with("[FTL] Error listening on port"));
    }

    #[test]
    fn debug_and_no_logtime() {
        let options = LogOptions {
            debug: true,
            logtime: false,
            ..LogOptions::default()
        };
        let out = capture(options, || tracing::debug!(conn = 3, "closed"));
        assert_eq!(
            out,
            format!("[{}] [DBG] closed conn=3\n", std::process::id())
        );
    }
}
