//! Errors from reading and parsing configuration files.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use super::value::Pos;

/// A configuration error: where it is and what is wrong.
///
/// Displays as `file:line:col: message` (nats-server's shape, though our columns are 1-based),
/// or `file: message` when there is no line (a file that cannot be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfError {
    /// The file the error is in, if known.
    pub file: Option<Arc<Path>>,
    /// 1-based line, or 0 when the error is about the whole file.
    pub line: u32,
    /// 1-based column, or 0 when unknown.
    pub col: u32,
    /// What is wrong.
    pub message: String,
}

impl ConfError {
    /// An error at `pos`.
    pub fn at(pos: &Pos, message: impl Into<String>) -> Self {
        Self {
            file: Some(pos.file.clone()),
            line: pos.line,
            col: pos.col,
            message: message.into(),
        }
    }

    /// An error about a whole file (for example one that cannot be read).
    pub fn file(file: &Path, message: impl Into<String>) -> Self {
        Self {
            file: Some(Arc::from(file)),
            line: 0,
            col: 0,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}:", file.display())?;
            if self.line > 0 {
                write!(f, "{}:", self.line)?;
                if self.col > 0 {
                    write!(f, "{}:", self.col)?;
                }
            }
            f.write_str(" ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfError {}
